// Patches a live DOM node to match a freshly parsed one, in place: the
// elements the page already has stay (so a hovered bar and its tooltip
// survive a new frame); only changed attributes and text are written.
"use strict";

// An element with a class (the chart's `.buzz-tooltips` group) is matched
// by it, so elements added before it (another axis tick) do not shift it.
function morphKey(node) {
  const kind = node.nodeType === Node.ELEMENT_NODE ? node.getAttribute("class") : null;
  return kind ? `${node.nodeName}.${kind}` : null;
}

function morph(target, source) {
  for (const { name } of [...target.attributes]) {
    if (!source.hasAttribute(name)) target.removeAttribute(name);
  }
  for (const { name, value } of source.attributes) {
    if (target.getAttribute(name) !== value) target.setAttribute(name, value);
  }
  const keyed = new Map();
  const plain = [];
  for (const child of target.childNodes) {
    const key = morphKey(child);
    if (key && !keyed.has(key)) keyed.set(key, child);
    else plain.push(child);
  }
  // Each new child, as the old node it updates (or as itself), in order.
  const result = [...source.childNodes].map((child) => {
    const key = morphKey(child);
    const old = key && keyed.has(key) ? keyed.get(key) : !key ? plain.shift() : undefined;
    if (key) keyed.delete(key);
    if (!old || old.nodeType !== child.nodeType || old.nodeName !== child.nodeName) {
      old?.remove();
      return child;
    }
    if (child.nodeType === Node.ELEMENT_NODE) morph(old, child);
    else if (old.nodeValue !== child.nodeValue) old.nodeValue = child.nodeValue;
    return old;
  });
  for (const unused of [...keyed.values(), ...plain]) unused.remove();
  result.forEach((node, i) => {
    if (target.childNodes[i] !== node) target.insertBefore(node, target.childNodes[i] || null);
  });
}

// Puts `svgText` into `container`: patched into the SVG already there, or
// (the first frame) in place of the placeholder.
function showSvg(container, svgText) {
  const parsed = new DOMParser().parseFromString(svgText, "image/svg+xml").documentElement;
  const current = container.querySelector(":scope > svg");
  if (current && parsed.nodeName === "svg") {
    morph(current, parsed);
  } else {
    container.replaceChildren(document.importNode(parsed, true));
  }
}
