// The chart tooltip: a bar's `<title>` under the pointer, or the values
// of the line or scatter point nearest it (from the chart's
// `.buzz-points` data attributes). Shown in an element of the page, and
// recomputed after each frame, so it stays while frames arrive.
"use strict";

const NEAREST_WITHIN_PX = 40;
const tipNumber = new Intl.NumberFormat(undefined, { maximumFractionDigits: 3 });
// The pointer over a chart: its card and where it is.
let pointer = null;

function formatX(x, kind) {
  return kind === "time" ? new Date(x * 1000).toLocaleString() : tipNumber.format(x);
}

// The text for the pointer at (clientX, clientY) over `chart`, or null.
function tipAt(chart, clientX, clientY) {
  const hit = document.elementFromPoint(clientX, clientY);
  const title = hit && chart.contains(hit) ? hit.querySelector(":scope > title") : null;
  if (title) return title.textContent;
  const svg = chart.querySelector("svg");
  const matrix = svg?.getScreenCTM();
  if (!matrix) return null;
  const at = new DOMPoint(clientX, clientY).matrixTransform(matrix.inverse());
  let best = null;
  for (const group of svg.querySelectorAll(".buzz-points")) {
    for (const [px, py, x, y] of JSON.parse(group.dataset.points || "[]")) {
      const d = Math.hypot(px - at.x, py - at.y);
      if (d <= NEAREST_WITHIN_PX && (!best || d < best.d)) best = { d, group, x, y };
    }
  }
  if (!best) return null;
  const series = best.group.dataset.series ? `${best.group.dataset.series}: ` : "";
  return `${series}${tipNumber.format(best.y)} at ${formatX(best.x, best.group.dataset.xKind)}`;
}

function showTip() {
  const tip = document.getElementById("tooltip");
  const text = pointer && tipAt(pointer.chart, pointer.x, pointer.y);
  tip.hidden = !text;
  if (!text) return;
  tip.textContent = text;
  tip.style.left = `${pointer.x + window.scrollX + 12}px`;
  tip.style.top = `${pointer.y + window.scrollY + 12}px`;
}

// Follows the pointer over `chart` (a card's `.chart`).
function trackPointer(chart) {
  chart.addEventListener("pointermove", (e) => {
    pointer = { chart, x: e.clientX, y: e.clientY };
    showTip();
  });
  chart.addEventListener("pointerleave", () => {
    pointer = null;
    showTip();
  });
}

// After a frame: the tooltip of the chart under the pointer, updated.
function refreshTip(chart) {
  if (pointer && pointer.chart === chart) showTip();
}
