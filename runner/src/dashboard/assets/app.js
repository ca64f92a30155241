// The buzz dashboard: one card per running pipeline; chart frames and
// stats arrive over server-sent events (EventSource reconnects by itself).
"use strict";

const cards = new Map();
const number = new Intl.NumberFormat();
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });

// Records per second: a decimal below 10 a second, where rounding would
// show a trickle as 0 or 1.
function formatRate(rate) {
  return rate > 0 && rate < 10 ? oneDecimal.format(rate) : number.format(Math.round(rate));
}

// Where a pipeline's chart files are served (`chart.svg` and so on).
function chartBase(pipeline) {
  return `/charts/${encodeURIComponent(pipeline)}/chart`;
}

function card(name) {
  if (cards.has(name)) return cards.get(name);
  const node = document.getElementById("pipeline-card").content.firstElementChild.cloneNode(true);
  node.dataset.pipeline = name;
  node.querySelector(".name").textContent = name;
  const base = chartBase(name);
  for (const kind of ["svg", "png", "json"]) {
    node.querySelector(`a.${kind}`).href = `${base}.${kind}?download`;
  }
  trackPointer(node.querySelector(".chart"));
  document.getElementById("pipelines").appendChild(node);
  cards.set(name, node);
  return node;
}

// A pipeline of several branches shows one chart per branch, side by
// side, keyed by the branch's name (the first takes the card's own place).
function chartOf(node, branch) {
  const charts = [...node.querySelectorAll(".chart")];
  if (branch === undefined) return charts[0];
  const found = charts.find((c) => c.dataset.branch === branch);
  if (found) return found;
  let chart = charts.find((c) => c.dataset.branch === undefined);
  if (!chart) {
    chart = charts[0].cloneNode(false);
    chart.innerHTML = '<p class="placeholder">waiting for the first frame…</p>';
    // After the last chart and its figures.
    [...node.querySelectorAll(".chart, .branch-figures")].pop().after(chart);
    trackPointer(chart);
  }
  chart.dataset.branch = branch;
  addDownloads(node, branch);
  figuresOf(node, branch);
  return chart;
}

// A branch's own figures, under its chart.
function figuresOf(node, branch) {
  const found = [...node.querySelectorAll(".branch-figures")].find((f) => f.dataset.branch === branch);
  if (found) return found;
  const figures = document.getElementById("branch-figures").content.firstElementChild.cloneNode(true);
  figures.dataset.branch = branch;
  figures.querySelector(".branch-name").textContent = branch;
  chartOf(node, branch).after(figures);
  return figures;
}

// Each branch's chart files, named after it, in the card's download row
// (which first held the pipeline's links, those of its first chart).
function addDownloads(node, branch) {
  const row = node.querySelector(".downloads");
  if (!row.querySelector(".branch-downloads")) row.textContent = "";
  const base = chartBase(node.dataset.pipeline);
  const line = document.createElement("span");
  line.className = "branch-downloads";
  line.dataset.branch = branch;
  line.append(`${branch}: `);
  ["svg", "png", "json"].forEach((kind, i) => {
    const link = document.createElement("a");
    link.className = kind;
    link.download = "";
    link.href = `${base}.${kind}?download&branch=${encodeURIComponent(branch)}`;
    link.textContent = kind.toUpperCase();
    line.append(...(i ? [" · ", link] : [link]));
  });
  row.append(line);
}

// The branches a pipeline has now (a reload may add and remove them): a
// new one gets its chart and figures, a removed one's chart, figures and
// links go.
function showBranches(update) {
  const node = card(update.pipeline);
  if (!update.branches.length) return;
  node.dataset.branches = JSON.stringify(update.branches);
  update.branches.forEach((b) => chartOf(node, b));
  for (const gone of node.querySelectorAll(".chart[data-branch], .branch-figures, .branch-downloads")) {
    if (!update.branches.includes(gone.dataset.branch)) gone.remove();
  }
}

// A frame of a branch the pipeline no longer has (sent as it was removed).
function isGone(node, branch) {
  return branch !== undefined && node.dataset.branches && !JSON.parse(node.dataset.branches).includes(branch);
}

function showFrame(frame) {
  const node = card(frame.pipeline);
  if (isGone(node, frame.branch)) return;
  const chart = chartOf(node, frame.branch);
  showSvg(chart, frame.svg);
  node.dataset.sequence = frame.sequence;
  explainEmpty(node);
  refreshTip(chart);
}

// The chart plugin's empty-state text (see plugins/charts axes::WAITING).
const WAITING = "waiting for data";
const REFUSED = "no data: the records are refused";

// While most records are refused, the card says why under the chart (a
// branch's own reason under its chart), and an empty chart says so instead
// of waiting for data. The pipeline's reason shows where no branch's does.
function explainEmpty(node) {
  const branches = [...node.querySelectorAll(".branch-figures")];
  const shared = branches.some((f) => f.dataset.refusing) ? undefined : node.dataset.refusing;
  showRefusal(node.querySelector(".chart-note"), shared);
  for (const chart of node.querySelectorAll(".chart")) {
    const figures = branches.find((f) => f.dataset.branch === chart.dataset.branch);
    if (figures) showRefusal(figures.querySelector(".branch-note"), figures.dataset.refusing);
    const refusing = figures?.dataset.refusing || shared;
    for (const text of chart.querySelectorAll("svg text")) {
      if (text.textContent.trim() === (refusing ? WAITING : REFUSED)) text.textContent = refusing ? REFUSED : WAITING;
    }
  }
}

function showRefusal(note, refusing) {
  note.hidden = !refusing;
  note.textContent = refusing ? `Records refused: ${refusing}` : "";
}

function describeReload(reload) {
  if (!reload) return ["none", ""];
  const when = new Date(reload.at * 1000).toLocaleTimeString();
  if (reload.applied) return [`applied at ${when}: ${reload.message}`, "ok"];
  return [`refused at ${when}: ${reload.message}`, "error"];
}

function showStats(stats) {
  const node = card(stats.pipeline);
  node.querySelector(".records-in").textContent = number.format(stats.records_in);
  node.querySelector(".records-out").textContent = number.format(stats.records_out);
  node.querySelector(".rate").textContent = formatRate(stats.records_per_s);
  node.querySelector(".dead-letter").textContent = number.format(stats.dead_letter);
  const [reload, reloadClass] = describeReload(stats.last_reload);
  const reloadNode = node.querySelector(".last-reload");
  reloadNode.textContent = reload;
  reloadNode.className = `last-reload ${reloadClass}`;
  const t = stats.transport;
  const transport = node.querySelector(".transport");
  transport.textContent = [t.state, t.detail, t.lag ? `lag ${t.lag}` : null, t.warning ? `warning: ${t.warning}` : null]
    .filter(Boolean)
    .join(" · ");
  transport.className = `transport ${t.warning && t.state === "connected" ? "warning" : t.state}`;
  const warning = stats.refusing ? `refusing records: ${stats.refusing}` : stats.stage_warning;
  const stages = node.querySelector(".stage-warning");
  stages.textContent = warning ? `warning: ${warning}` : "ok";
  stages.className = `stage-warning ${warning ? "warning" : ""}`;
  if (stats.refusing) node.dataset.refusing = stats.refusing;
  else delete node.dataset.refusing;
  // A snapshot taken just before a reload may still list a removed branch.
  (stats.branches || []).filter((b) => !isGone(node, b.name)).forEach((branch) => showBranch(node, branch));
  explainEmpty(node);
}

// A branch's own figures, under its chart.
function showBranch(node, branch) {
  const figures = figuresOf(node, branch.name);
  const show = (figure, text) => (figures.querySelector(`[data-figure="${figure}"]`).textContent = text);
  show("records_out", number.format(branch.records_out));
  show("dead_letter", number.format(branch.dead_letter));
  show("frames_drawn", number.format(branch.chart.frames_drawn));
  show("last_draw", `${oneDecimal.format(branch.chart.last_draw_s * 1000)} ms`);
  if (branch.refusing) figures.dataset.refusing = branch.refusing;
  else delete figures.dataset.refusing;
}

const connection = document.getElementById("connection");
const events = new EventSource("/events");
events.addEventListener("open", () => {
  connection.textContent = "live";
  connection.className = "connection live";
});
events.addEventListener("error", () => {
  connection.textContent = "reconnecting…";
  connection.className = "connection waiting";
});
events.addEventListener("branches", (e) => showBranches(JSON.parse(e.data)));
events.addEventListener("frame", (e) => showFrame(JSON.parse(e.data)));
events.addEventListener("stats", (e) => JSON.parse(e.data).forEach(showStats));

fetch("/api/pipelines")
  .then((r) => r.json())
  .then((list) =>
    list.forEach((p) => {
      const node = card(p.name);
      (p.branches || []).forEach((b) => chartOf(node, b));
    }),
  );
