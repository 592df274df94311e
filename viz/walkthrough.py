"""The step-by-step page: a graph whose values, then gradients, appear one node at a time.

Lecture §5 says of backpropagation: "cannot do all at once, need to follow an
order". This page shows that order. It draws the graph once, with every data
and grad cell blank, then steps through
  - the forward pass, in topological order: each step computes one node's
    value from its inputs (`e = a + d = 3.0000 + 2.0000 = 5.0000`);
  - the backward pass, in reverse order: each step computes one node's
    gradient as upstream grad x local grad, adding up the contributions when
    the node feeds several others (lecture §6, "two paths").
Prev/next buttons, the arrow keys and a slider move between steps. The file is
self-contained (the SVG, script and styles are inline), so it opens offline.

The numbers are computed here from `data` and `local_grads`, exactly as
`backward()` computes them, so the page is right even if backward() was never
called or was called twice (which doubles the leaves' grads).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Iterable, Optional, Union

from tinygrad_edu import Value, topological_order
from viz.dot import MAX_NODES, draw_dot, format_number, node_role
from viz.renderer import render_source, write_atomically

FUNCTIONS = ("exp", "log", "tanh", "sigmoid", "relu")
ORDINALS = ("1st", "2nd", "3rd")
# n-ary ops with more operands than this are summarised instead of written out in full.
MAX_OPERANDS_SHOWN = 6
_SYMBOLS = r"\*\*|[+\-*/]"
LEAF_KINDS = {
    "input": "an input: its value is given",
    "parameter": "a parameter: its value is the network's current weight",
    "constant": "a constant",
    "output": "the output, and also a leaf",
}


def walkthrough(root: Value, path: Union[str, Path], **options) -> Path:
    """Write the step-by-step HTML page for the graph of `root` to `path`; return the path."""
    return write_atomically(path, walkthrough_html(root, **options))


def walkthrough_html(
    root: Value,
    *,
    title: Optional[str] = None,
    rankdir: str = "LR",
    decimals: int = 4,
    parameters: Optional[Iterable[Value]] = None,
    max_nodes: Optional[int] = MAX_NODES,
) -> str:
    """The self-contained step-by-step page for the graph of `root`, as HTML text."""
    order = topological_order(root)
    parameter_set = set(parameters) if parameters is not None else None
    graph = draw_dot(root, rankdir=rankdir, decimals=decimals, show_local_grads=True,
                     parameters=parameter_set, number_unlabelled=True, max_nodes=max_nodes)
    svg = render_source(graph.source, "svg").decode("utf-8")
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and doctype: it is inlined into HTML
    steps = build_steps(root, order, decimals, parameter_set)
    grads = backward_grads(root, order)
    nodes = [{"id": f"n{position}", "label": _name(node, position),
              "data": format_number(node.data, decimals),
              "grad": format_number(grads[node], decimals)}
             for position, node in enumerate(order)]
    page_title = title or f"Forward and backward through {_name(root, len(order) - 1)}"
    return _page(page_title, svg, {"nodes": nodes, "steps": steps})


def backward_grads(root: Value, order: list[Value]) -> dict[Value, float]:
    """d(root)/d(node) for every node, by the chain rule in reverse topological order."""
    grads = {node: 0.0 for node in order}
    grads[root] = 1.0
    for node in reversed(order):
        for operand, local in zip(node.inputs, node.local_grads):
            grads[operand] += grads[node] * local
    return grads


def build_steps(root: Value, order: list[Value], decimals: int = 4,
                parameters: Optional[set] = None) -> list[dict]:
    """Every step of the page: the start, one forward step per node, one backward per node.

    A step is {"phase", "node" (position in topological order, -1 at the start),
    "title", "lines"}: what the page shows above the graph.
    """
    position = {node: index for index, node in enumerate(order)}
    names = {node: _name(node, position[node]) for node in order}
    out = names[root]

    def number(x: float) -> str:
        return format_number(x, decimals)

    steps = [{"phase": "start", "node": -1, "title": "The graph, before anything is computed",
              "lines": ["Press → (or Next) to run the forward pass one node at a time, "
                        "then the backward pass.",
                        f"{len(order)} values: {len(order)} forward steps, "
                        f"then {len(order)} backward steps."]}]

    for node in order:
        name = names[node]
        if not node.inputs:
            role = node_role(node, root, parameters)
            lines = [f"{name} is {LEAF_KINDS[role]}."]
            steps.append({"phase": "forward", "node": position[node],
                          "title": f"{name} = {number(node.data)}", "lines": lines})
            continue
        operand_names = [names[operand] for operand in node.inputs]
        operand_numbers = [_parenthesised(number(operand.data)) for operand in node.inputs]
        with_names = formula(node.op, operand_names)
        lines = []
        if len(node.inputs) <= MAX_OPERANDS_SHOWN:
            lines.append(f"= {formula(node.op, operand_numbers)} = {number(node.data)}")
        else:
            lines.append(f"= {number(node.data)}, from {len(node.inputs)} operands")
        lines.append("Its inputs were all computed in earlier steps (topological order).")
        if len(node.inputs) <= MAX_OPERANDS_SHOWN:
            local_grads = ", ".join(
                f"∂{name}/∂{operand_name} = {number(local)}"
                for operand_name, local in zip(operand_names, node.local_grads))
            lines.append(f"Local gradients, kept for the backward pass: {local_grads}")
        steps.append({"phase": "forward", "node": position[node],
                      "title": f"{name} = {with_names}", "lines": lines})

    grads = backward_grads(root, order)
    # contributions[node]: (consumer, which operand use, upstream grad, local grad), in the
    # order backward() adds them.
    contributions: dict[Value, list[tuple[Value, int, float, float]]] = {n: [] for n in order}
    for node in reversed(order):
        name = names[node]
        if node is root:
            steps.append({"phase": "backward", "node": position[node],
                          "title": f"∂{out}/∂{out} = 1",
                          "lines": ["Backward starts at the output: its gradient with "
                                    "respect to itself is 1."]})
        else:
            steps.append(_backward_step(node, position[node], names, out, contributions[node],
                                        grads[node], number))
        for use, (operand, local) in enumerate(zip(node.inputs, node.local_grads)):
            contributions[operand].append((node, use, grads[node], local))
    return steps


def _backward_step(node: Value, position: int, names: dict, out: str, contributions: list,
                   total: float, number) -> dict:
    """One backward step: the node's gradient, from each use of it (upstream x local)."""
    name = names[node]
    lines = []
    running = 0.0
    for consumer, use, upstream, local in contributions:
        consumer_name = names[consumer]
        via = consumer_name
        if consumer.inputs.count(node) > 1:  # x * x: say which of the operand uses
            nth = consumer.inputs[:use + 1].count(node)
            via = f"{consumer_name} ({ORDINALS[nth - 1] if nth <= 3 else f'{nth}th'} use)"
        product = upstream * local
        running += product
        line = (f"via {via}: ∂{out}/∂{consumer_name} × ∂{consumer_name}/∂{name} = "
                f"{number(upstream)} × {_parenthesised(number(local))} = {number(product)}")
        if len(contributions) > 1:
            line += f"; running sum {number(running)}"
        lines.append(line)
    if len(contributions) > 1:
        lines.append(f"{name} is used {len(contributions)} times, so the gradients of the "
                     f"paths add up (lecture §6).")
    return {"phase": "backward", "node": position,
            "title": f"∂{out}/∂{name} = {number(total)}", "lines": lines}


def formula(op: str, operands: list[str]) -> str:
    """How a node was computed, written out: `b * 2`, `a + d`, `tanh(z)`, `2 - x`, `sum(...)`."""
    if len(operands) > MAX_OPERANDS_SHOWN:
        shown = ", ".join(operands[:MAX_OPERANDS_SHOWN - 1]) + ", …, " + operands[-1]
    else:
        shown = ", ".join(operands)
    if len(operands) == 2 and re.fullmatch(_SYMBOLS, op):
        return f"{operands[0]} {op} {operands[1]}"
    if op == "neg":
        return f"-{operands[0]}"
    if op in FUNCTIONS:
        return f"{op}({operands[0]})"
    if op.startswith("sum") and op != "sum":  # sum with a folded constant: "sum3"
        return f"sum({shown}) + {op[3:]}"
    if len(operands) == 1 and op and op[-1] in "+-*/":  # constant on the left: "2-", "2**"
        constant, symbol = re.fullmatch(rf"(.+?)({_SYMBOLS})", op).groups()
        return f"{constant} {symbol} {operands[0]}"
    if len(operands) == 1 and op and op[0] in "+-*/":  # constant on the right: "*2", "**2"
        symbol, constant = re.fullmatch(rf"({_SYMBOLS})(.+)", op).groups()
        return f"{operands[0]} {symbol} {constant}"
    if op == "dot":
        return f"dot({shown}): Σ weight × input (+ bias)"
    return f"{op}({shown})"


def _name(node: Value, position: int) -> str:
    """A node's name on the page: its label, else `#k` as drawn on its box."""
    return node.label or f"#{position}"


def _parenthesised(number: str) -> str:
    """`(-2.0000)` for a negative number, so `3 * (-2)` reads right."""
    return f"({number})" if number.startswith("-") else number


def _script_json(data: object) -> str:
    """JSON that is safe inside a <script> element (no `</script>` can appear in it)."""
    text = json.dumps(data, ensure_ascii=True)
    return text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")


def _page(title: str, svg: str, data: dict) -> str:
    """The whole HTML document."""
    return (PAGE.replace("{{TITLE}}", html.escape(title))
            .replace("{{SVG}}", svg)
            .replace("{{DATA}}", _script_json(data)))


PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{TITLE}}</title>
<style>
  body { font-family: system-ui, -apple-system, "Segoe UI", Helvetica, Arial, sans-serif;
         margin: 0; color: #222; background: #fafafa; }
  header { padding: 12px 20px 8px; background: #fff; border-bottom: 1px solid #ddd;
           position: sticky; top: 0; z-index: 1; }
  h1 { font-size: 18px; margin: 0 0 8px; }
  .controls { display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
  button { font-size: 15px; padding: 4px 14px; cursor: pointer; }
  #slider { flex: 1; min-width: 200px; }
  #counter { font-variant-numeric: tabular-nums; min-width: 190px; }
  .phase { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 13px;
           margin-right: 8px; background: #eee; }
  .phase.forward { background: #cfe2ff; } .phase.backward { background: #ffd9b3; }
  #explanation { margin-top: 8px; min-height: 4.2em; }
  #step-title { font-size: 17px; font-weight: 600; font-family: ui-monospace, Menlo, Consolas,
                monospace; }
  #step-lines { margin: 4px 0 0; padding-left: 20px; font-family: ui-monospace, Menlo,
                Consolas, monospace; font-size: 14px; }
  #graph { padding: 16px 20px; overflow: auto; }
  #graph svg { background: #fff; }
  #graph.fit svg { width: 100%; height: auto; }
  .hint { color: #777; font-size: 13px; }
  g.node.pending, g.edge.pending { opacity: 0.3; }
  g.node.current polygon { stroke: #d6336c; stroke-width: 3px; }
  g.node.operand polygon { stroke: #f08c00; stroke-width: 2.5px; }
  g.edge.active path { stroke: #d6336c; stroke-width: 2.5px; }
  g.edge.active polygon { stroke: #d6336c; fill: #d6336c; }
  g.edge.active text { fill: #d6336c; font-weight: bold; }
  text.unknown { fill: #aaa; }
  text.fresh { fill: #d6336c; font-weight: bold; }
</style>
</head>
<body>
<header>
  <h1>{{TITLE}}</h1>
  <div class="controls">
    <button id="prev" type="button" title="previous step (←)">◀ Prev</button>
    <button id="next" type="button" title="next step (→)">Next ▶</button>
    <input id="slider" type="range" min="0" value="0" step="1" aria-label="step">
    <span id="counter"></span>
    <label><input id="fit" type="checkbox"> fit to window</label>
  </div>
  <div id="explanation">
    <div><span id="phase" class="phase"></span><span id="step-title"></span></div>
    <ul id="step-lines"></ul>
  </div>
  <div class="hint">← → arrow keys step, Home/End jump. Highlighted: the node of this step
    (pink) and the nodes it reads (orange).</div>
</header>
<div id="graph">
{{SVG}}
</div>
<script>
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
  if (current >= 0) {
    cells[current].group.scrollIntoView({block: "nearest", inline: "nearest"});
  }
  window.currentStep = step;
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
</script>
</body>
</html>
"""


__all__ = ["walkthrough", "walkthrough_html", "build_steps", "backward_grads", "formula"]
