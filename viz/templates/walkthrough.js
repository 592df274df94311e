// The step-by-step page of tinygrad_edu.viz.walkthrough: DATA is filled in by Python.
"use strict";
const DATA = {{DATA}};
const N = DATA.nodes.length;
const LAST = DATA.steps.length - 1;  // 2N: the start, N forward steps, N backward steps
const boxes = {}, ops = {}, edges = [];

// Graphviz titles every node and edge of the SVG with its DOT name ("n3", "n3op", "n0->n3op").
for (const group of document.querySelectorAll("#graph g.node, #graph g.edge")) {
  const title = group.querySelector("title").textContent;
  if (group.classList.contains("edge")) {
    const [tail, head] = title.split("->");
    edges.push({group, tail: tail.split(":")[0], head: head.split(":")[0]});
  } else if (title.endsWith("op")) {
    ops[title.slice(0, -2)] = group;
  } else {
    boxes[title] = group;
  }
}
// The last two texts of a box are its "data ..." and "grad ..." cells.
const cells = DATA.nodes.map(node => {
  const group = boxes[node.id];
  group.dataset.label = node.label;
  const texts = group.querySelectorAll("text");
  return {group, data: texts[texts.length - 2], grad: texts[texts.length - 1]};
});

function show(text, shown, value, fresh) {
  text.textContent = shown ? value : value.split(" ")[0] + " ?";
  text.classList.toggle("unknown", !shown);
  text.classList.toggle("fresh", fresh);
}

function render(step) {
  const info = DATA.steps[step];
  const current = info.node;  // position in topological order, -1 at the start
  for (let i = 0; i < N; i++) {
    const forwardStep = i + 1, backwardStep = 2 * N - i;
    const node = DATA.nodes[i], cell = cells[i];
    show(cell.data, step >= forwardStep, "data " + node.data, step === forwardStep);
    show(cell.grad, step >= backwardStep, "grad " + node.grad, step === backwardStep);
    const pending = step < forwardStep;
    cell.group.classList.toggle("pending", pending);
    if (ops["n" + i]) ops["n" + i].classList.toggle("pending", pending);
    cell.group.classList.toggle("current", i === current);
    cell.group.classList.remove("operand");
  }
  const id = "n" + current;
  for (const edge of edges) {
    // An op's arrows, with their local grads, are computed in the same forward step as its value.
    const owner = edge.head.endsWith("op") ? edge.head.slice(1, -2) : edge.tail.slice(1, -2);
    edge.group.classList.toggle("pending", step < +owner + 1);
    let active = false;
    if (info.phase === "forward") {
      active = edge.head === id + "op" || (edge.tail === id + "op" && edge.head === id);
      if (edge.head === id + "op" && boxes[edge.tail]) boxes[edge.tail].classList.add("operand");
    } else if (info.phase === "backward") {
      active = edge.tail === id && edge.head.endsWith("op");
      if (active) boxes[edge.head.slice(0, -2)].classList.add("operand");
    }
    edge.group.classList.toggle("active", active);
  }
  document.getElementById("phase").textContent =
      {start: "start", forward: "forward pass", backward: "backward pass"}[info.phase];
  document.getElementById("phase").className = "phase " + info.phase;
  document.getElementById("step-title").textContent = info.title;
  const list = document.getElementById("step-lines");
  list.replaceChildren(...info.lines.map(line => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
  document.getElementById("counter").textContent = "step " + step + " of " + LAST;
  document.getElementById("slider").value = step;
  document.getElementById("prev").disabled = step === 0;
  document.getElementById("next").disabled = step === LAST;
  if (current >= 0) reveal(cells[current].group);
  window.currentStep = step;
}

// Scroll just enough to show the step's node. In a page of its own that may scroll the window;
// in a notebook's frame only the graph's own box scrolls, never the notebook around it.
function reveal(element) {
  if (window.self === window.top) {
    element.scrollIntoView({block: "nearest", inline: "nearest"});
    return;
  }
  const graph = document.getElementById("graph");
  const box = element.getBoundingClientRect(), view = graph.getBoundingClientRect();
  if (box.left < view.left) graph.scrollLeft -= view.left - box.left + 20;
  else if (box.right > view.right) graph.scrollLeft += box.right - view.right + 20;
}

// Inside a notebook's frame (same origin), make the frame as tall as the page, and keep it so
// when the cell's width changes the graph's height.
if (window.frameElement) {
  const fitFrame = () => {
    window.frameElement.style.height = document.body.scrollHeight + 2 + "px";
  };
  new ResizeObserver(fitFrame).observe(document.body);
}

// In a notebook's frame, Ctrl+S (Cmd+S) would reach this page, not the notebook: say so, and
// when it is pressed here, give the keys back to the notebook instead of the browser saving
// this page, so that the next Ctrl+S saves the notebook.
if (window.parent !== window) {
  const note = document.getElementById("frame-note");
  note.hidden = false;
  document.addEventListener("keydown", event => {
    if (!(event.ctrlKey || event.metaKey) || event.key.toLowerCase() !== "s") return;
    event.preventDefault();
    note.textContent = "Ctrl+S went to this frame, so the notebook was not saved. " +
      "The notebook has the keys again: press Ctrl+S once more to save it.";
    note.classList.add("pressed");
    if (window.frameElement) window.frameElement.blur();
    window.parent.focus();
  });
}

// Small graphs are scaled to the window; big ones keep their size, so the text stays legible.
const svg = document.querySelector("#graph svg");
const fit = document.getElementById("fit");
fit.checked = svg.viewBox.baseVal.width <= 2 * document.documentElement.clientWidth;
document.getElementById("graph").classList.toggle("fit", fit.checked);
fit.addEventListener("change", () => {
  document.getElementById("graph").classList.toggle("fit", fit.checked);
  fit.blur();  // so the arrow keys step again instead of toggling the box
});

function go(step) { render(Math.max(0, Math.min(LAST, step))); }
document.getElementById("slider").max = LAST;
document.getElementById("prev").addEventListener("click", () => go(window.currentStep - 1));
document.getElementById("next").addEventListener("click", () => go(window.currentStep + 1));
document.getElementById("slider").addEventListener("input", event => go(+event.target.value));
document.addEventListener("keydown", event => {
  if (event.target.id === "slider") return;  // the slider handles its own arrow keys
  const moves = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
  if (event.key in moves) go(window.currentStep + moves[event.key]);
  else if (event.key === "Home") go(0);
  else if (event.key === "End") go(LAST);
  else return;
  event.preventDefault();
});
go(0);
