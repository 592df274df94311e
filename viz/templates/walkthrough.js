// The step-by-step page of tinygrad_edu.viz.walkthrough: DATA is filled in by Python.
"use strict";
const DATA = {{DATA}};
const N = DATA.nodes.length;
const LAST = DATA.steps.length - 1;  // 2N: the start, N forward steps, N backward steps
const boxes = {}, ops = {}, edges = [];
// Practice mode: the learner types each gradient of the backward pass before it is shown.
const PRACTICE = DATA.practice === true;
const results = new Array(N).fill(null);  // per node: "first", "second" or "revealed"
const tries = new Array(N).fill(0);

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
    const gradKnown = step >= backwardStep && (!PRACTICE || results[i] !== null);
    show(cell.grad, gradKnown, "grad " + node.grad, step === backwardStep);
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
  const asking = PRACTICE && info.phase === "backward" && results[current] === null;
  document.getElementById("step-title").textContent = asking ? info.question + " = ?" : info.title;
  fillList(document.getElementById("step-lines"), asking ? [] : info.lines);
  if (PRACTICE) renderPractice(step, info, asking);
  document.getElementById("counter").textContent = "step " + step + " of " + LAST;
  document.getElementById("slider").value = step;
  document.getElementById("prev").disabled = step === 0;
  document.getElementById("next").disabled = step >= furthest();
  if (current >= 0) reveal(cells[current].group);
  window.currentStep = step;
}

function fillList(list, lines) {
  list.replaceChildren(...lines.map(line => {
    const item = document.createElement("li");
    item.textContent = line;
    return item;
  }));
}

// ---------------------------------------------------------------- practice mode
// The furthest step the learner may reach: the first backward question not yet settled.
function furthest() {
  if (!PRACTICE) return LAST;
  for (let step = N + 1; step <= LAST; step++) {
    if (results[2 * N - step] === null) return step;
  }
  return LAST;
}

const form = document.getElementById("practice");
const answer = document.getElementById("answer");
const feedback = document.getElementById("feedback");
const hint = document.getElementById("hint");
const score = document.getElementById("score");
const VERDICTS = {first: "✓ Right at the first try.", second: "✓ Right at the second try.",
                  revealed: "✗ Revealed after two tries."};

function say(kind, text) {
  feedback.className = kind;
  feedback.textContent = text;
}

function renderPractice(step, info, asking) {
  const current = info.node;
  form.hidden = info.phase !== "backward";
  if (info.phase === "backward") {
    document.getElementById("question").textContent = info.question + " =";
    answer.disabled = !asking;
    document.getElementById("check").disabled = !asking;
    if (asking) {
      answer.value = "";
      say("", "");
      hint.hidden = true;
      answer.focus({preventScroll: true});
    } else {
      answer.value = DATA.nodes[current].grad;
      say(results[current] === "revealed" ? "revealed" : "right", VERDICTS[results[current]]);
      hint.hidden = true;
    }
  }
  const done = results.every(result => result !== null);
  score.hidden = !(done && step === LAST);
  if (!score.hidden) {
    const count = kind => results.filter(result => result === kind).length;
    const right = count("first") + count("second");
    score.textContent = "Score: " + right + " of " + N + " right (" + count("first") +
        " at the first try, " + count("second") + " at the second); " + count("revealed") +
        " revealed.";
  }
}

// A number as a learner writes it: -4, 0.25, .5, 1e-3, −2/3 (a fraction of two numbers).
// Read by a regular expression and Number(), never evaluated as code.
const NUMBER = "[+-]?(?:\\d+\\.?\\d*|\\.\\d+)(?:[eE][+-]?\\d+)?";
const ANSWER = new RegExp("^(" + NUMBER + ")(?:\\s*/\\s*(" + NUMBER + "))?$");
function parseAnswer(text) {
  const match = ANSWER.exec(text.replace(/\u2212/g, "-").replace(/\s+/g, " ").trim());
  if (match === null) return null;
  const top = Number(match[1]), bottom = match[2] === undefined ? 1 : Number(match[2]);
  const value = top / bottom;
  return bottom !== 0 && Number.isFinite(value) ? value : null;
}

// Right within a relative 1e-3, or within the rounding of the numbers the page shows.
function isRight(value, truth) {
  return Math.abs(value - truth) <= Math.max(1e-3 * Math.abs(truth), DATA.roundoff);
}

form.addEventListener("submit", event => {
  event.preventDefault();
  const current = DATA.steps[window.currentStep].node;
  if (DATA.steps[window.currentStep].phase !== "backward" || results[current] !== null) return;
  const value = parseAnswer(answer.value);
  if (value === null) {
    say("invalid", "Type a number, e.g. -4, 0.25, 1e-3 or -2/3.");
    answer.select();  // typing again replaces it
    return;
  }
  tries[current] += 1;
  if (isRight(value, DATA.nodes[current].answer)) {
    results[current] = tries[current] === 1 ? "first" : "second";
  } else if (tries[current] === 1) {
    say("wrong", "Not quite. Hint: upstream × local, for every use of it. Try again.");
    fillList(hint, DATA.steps[window.currentStep].hint);
    hint.hidden = false;
    answer.select();
    return;
  } else {
    results[current] = "revealed";
  }
  render(window.currentStep);
  if (window.currentStep === LAST) score.focus({preventScroll: true});
  else document.getElementById("next").focus({preventScroll: true});
});

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

function go(step) { render(Math.max(0, Math.min(furthest(), step))); }
document.getElementById("slider").max = LAST;
document.getElementById("prev").addEventListener("click", () => go(window.currentStep - 1));
document.getElementById("next").addEventListener("click", () => go(window.currentStep + 1));
document.getElementById("slider").addEventListener("input", event => go(+event.target.value));
document.addEventListener("keydown", event => {
  // The slider handles its own arrow keys, and the answer box its typing.
  if (event.target.id === "slider" || event.target.id === "answer") return;
  const moves = {ArrowRight: 1, ArrowDown: 1, ArrowLeft: -1, ArrowUp: -1};
  if (event.key in moves) go(window.currentStep + moves[event.key]);
  else if (event.key === "Home") go(0);
  else if (event.key === "End") go(LAST);
  else return;
  event.preventDefault();
});
go(0);
