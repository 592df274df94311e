"""The step-by-step page: a graph whose values, then gradients, appear one node at a time.

Lecture §5 says of backpropagation: "cannot do all at once, need to follow an
order". This page shows that order. It draws the graph once, with every data
and grad cell blank, then steps through
  - the forward pass, in topological order: each step computes one node's
    value from its inputs (`e = a + d = 3.0000 + 2.0000 = 5.0000`);
  - the backward pass, in reverse order: each step computes one node's
    gradient as upstream grad x local grad, adding up the contributions when
    the node feeds several others (lecture §6, "two paths").
With `practice=True` the backward pass is the learner's to do: each step asks
for ∂out/∂node in an input box, accepts an answer within a relative 1e-3
(fractions such as -2/3 too), gives upstream × local with the numbers as a hint
after a wrong answer, shows the answer after a second, and ends with a score.
Prev/next buttons, the arrow keys and a slider move between steps. The file is
self-contained (the SVG, script and styles are inline), so it opens offline.
Without a path, `walkthrough(root)` returns the page for Jupyter to show inline,
in a frame of its own.

The numbers are computed here from `data` and `local_grads`, exactly as
`backward()` computes them, so the page is right even if backward() was never
called or was called twice (which doubles the leaves' grads).
"""

from __future__ import annotations

import html
import json
import re
from pathlib import Path
from typing import Iterable, Optional, Union, overload

from tinygrad_edu.engine import DOT, Value, primitive_of, topological_order
from tinygrad_edu.viz.dot import MAX_NODES, draw_dot, format_number, node_role
from tinygrad_edu.viz.notebook import FramedPage, png_density, still_pictures
from tinygrad_edu.viz.renderer import (
    RENDER_TIMEOUT_SECONDS,
    find_renderer,
    render_source,
    write_atomically,
)

ORDINALS = ("1st", "2nd", "3rd")
# n-ary ops with more operands than this are summarised instead of written out in full.
MAX_OPERANDS_SHOWN = 6
TEMPLATES = Path(__file__).resolve().parent / "templates"
_SLOT = re.compile(r"\{\{([A-Z][A-Z0-9_]*)\}\}")
_SVG_HEIGHT = re.compile(r'<svg width="[\d.]+pt" height="([\d.]+)pt"')
LEAF_KINDS = {
    "input": "an input: its value is given",
    "parameter": "a parameter: its value is the network's current weight",
    "constant": "a constant",
    "output": "the output, and also a leaf",
}


@overload
def walkthrough(root: Value, path: None = None, *, title: Optional[str] = None,
                rankdir: str = "LR", decimals: int = 4,
                parameters: Optional[Iterable[Value]] = None,
                max_nodes: Optional[int] = MAX_NODES,
                timeout: float = RENDER_TIMEOUT_SECONDS, practice: bool = False) -> FramedPage: ...
@overload
def walkthrough(root: Value, path: Union[str, Path], *, title: Optional[str] = None,
                rankdir: str = "LR", decimals: int = 4,
                parameters: Optional[Iterable[Value]] = None,
                max_nodes: Optional[int] = MAX_NODES,
                timeout: float = RENDER_TIMEOUT_SECONDS, practice: bool = False) -> Path: ...
def walkthrough(root: Value, path: Union[str, Path, None] = None, *,
                title: Optional[str] = None, rankdir: str = "LR", decimals: int = 4,
                parameters: Optional[Iterable[Value]] = None,
                max_nodes: Optional[int] = MAX_NODES,
                timeout: float = RENDER_TIMEOUT_SECONDS,
                practice: bool = False) -> Union[FramedPage, Path]:
    """The step-by-step page for the graph of `root`: written to `path` (the path is returned),
    or, without a path, returned for Jupyter to show inline in a frame of its own.

    `title` heads the page (default: "Forward and backward through" the root's label);
    `rankdir` lays the graph out left to right ("LR") or top to bottom ("TB"); numbers
    show `decimals` decimals; `parameters` are drawn as parameters (amber); a graph of
    more than `max_nodes` Values is refused (None: no limit); the renderer is stopped
    after `timeout` seconds. With `practice=True` the learner types each gradient of the
    backward pass (see walkthrough_html).
    """
    parameters = list(parameters) if parameters is not None else None  # read twice below
    page = walkthrough_html(root, title=title, rankdir=rankdir, decimals=decimals,
                            parameters=parameters, max_nodes=max_nodes, timeout=timeout,
                            practice=practice)
    if path is not None:
        return write_atomically(path, page)
    svg_height = _SVG_HEIGHT.search(page)
    # Room for the controls and the step's explanation above the graph; the page then
    # sets the frame to its real height, which depends on the cell's width.
    height = 230 + (round(float(svg_height.group(1)) * 4 / 3) if svg_height else 300)
    # In practice mode the still picture would show the answers: the frame's text says more.
    pictures = [] if practice else _still_pictures(root, rankdir, parameters, max_nodes)
    return FramedPage(page, title or _default_title(root), height=min(height, 900),
                      pictures=pictures)


def _default_title(root: Value) -> str:
    """The page's title when none is given: it names the output by its label, if it has one."""
    return f"Forward and backward through {root.label or 'the output'}"


def _still_pictures(root: Value, rankdir: str, parameters: Optional[Iterable[Value]],
                    max_nodes: Optional[int]) -> list[tuple[bytes, int]]:
    """PNGs of the graph as it is (pieces, if it is wide), each with its width in CSS px: what
    an untrusted notebook shows in place of the page, since it removes frames."""
    source = draw_dot(root, rankdir=rankdir, show_local_grads=True, parameters=parameters,
                      max_nodes=max_nodes).source
    svg = render_source(source, "svg").decode("utf-8")
    density = png_density(svg)
    png = render_source(source, "png", command=[*find_renderer(), f"-Gdpi={96 * density:.2f}"])
    return still_pictures(png, svg, density)


def walkthrough_html(
    root: Value,
    *,
    title: Optional[str] = None,
    rankdir: str = "LR",
    decimals: int = 4,
    parameters: Optional[Iterable[Value]] = None,
    max_nodes: Optional[int] = MAX_NODES,
    timeout: float = RENDER_TIMEOUT_SECONDS,
    practice: bool = False,
) -> str:
    """The self-contained step-by-step page for the graph of `root`, as HTML text.

    With practice=True the learner types each gradient of the backward pass.
    """
    order = topological_order(root)
    parameter_set = set(parameters) if parameters is not None else None
    graph = draw_dot(root, rankdir=rankdir, decimals=decimals, show_local_grads=True,
                     parameters=parameter_set, number_unlabelled=True, max_nodes=max_nodes)
    svg = render_source(graph.source, "svg", timeout=timeout).decode("utf-8")
    svg = svg[svg.index("<svg"):]  # drop the XML prolog and doctype: it is inlined into HTML
    steps = build_steps(root, order, decimals, parameter_set)
    grads = backward_grads(root, order)
    nodes = [{"id": f"n{position}", "label": _name(node, position),
              "data": format_number(node.data, decimals),
              "grad": format_number(grads[node], decimals)}
             for position, node in enumerate(order)]
    page_title = title or _default_title(root)
    data: dict = {"nodes": nodes, "steps": steps}
    if practice:
        add_practice(data, root, order, grads, decimals)
        if title is None:
            page_title = f"Practice: backpropagate through {root.label or 'the output'}"
    return _page(page_title, svg, data)


def add_practice(data: dict, root: Value, order: list[Value], grads: dict[Value, float],
                 decimals: int) -> None:
    """Turn the page's data into practice mode: each backward step becomes a question with
    its exact answer and a hint (upstream × local with the numbers, for every use)."""
    names = {node: _name(node, position) for position, node in enumerate(order)}
    out = names[root]
    uses: dict[Value, list[tuple[Value, float]]] = {node: [] for node in order}
    for node in order:
        for operand, local in zip(node.inputs, node.local_grads):
            uses[operand].append((node, local))

    def number(x: float) -> str:
        return format_number(x, decimals)

    data["practice"] = True
    # An answer is right within a relative 1e-3, or within the rounding of the numbers shown.
    data["roundoff"] = 0.5 * 10.0 ** -decimals
    for position, node in enumerate(order):
        data["nodes"][position]["answer"] = grads[node]
    start = data["steps"][0]
    start["lines"] = [f"Practice: the forward pass fills in as you step; then, from {out} back "
                      f"to the inputs, you type each gradient ∂{out}/∂node.",
                      "An answer counts within a relative 1e-3; fractions such as -2/3 are "
                      "fine. A wrong answer brings a hint, a second one the answer."]
    for step in data["steps"]:
        if step["phase"] != "backward":
            continue
        node = order[step["node"]]
        name = names[node]
        step["question"] = f"∂{out}/∂{name}"
        if node is root:
            step["hint"] = [f"Backward starts at the output: how much does {out} change when "
                            f"{out} itself changes by 1?"]
            continue
        hint = [f"via {names[consumer]}: ∂{out}/∂{names[consumer]} × "
                f"∂{names[consumer]}/∂{name} = {number(grads[consumer])} × "
                f"{_parenthesised(number(local))}" for consumer, local in uses[node]]
        if len(hint) > 1:
            hint.append(f"{name} is used {len(hint)} times: add the products up (lecture §6).")
        step["hint"] = hint


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
        with_names = formula(node, operand_names)
        lines = []
        if len(node.inputs) <= MAX_OPERANDS_SHOWN:
            lines.append(f"= {formula(node, operand_numbers)} = {number(node.data)}")
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


def formula(node: Value, operands: list[str]) -> str:
    """How a node was computed, written out: `b * 2`, `a + d`, `tanh(z)`, `2 - x`, `sum(a, b) + 3`.

    The engine's table of primitives writes it; a long operand list is shortened.
    """
    if len(operands) > MAX_OPERANDS_SHOWN:
        operands = operands[:MAX_OPERANDS_SHOWN - 1] + ["…", operands[-1]]
    text = primitive_of(node).formula(operands, node.constant, node.constant_left)
    if node.primitive is DOT:
        text += ": Σ weight × input (+ bias)"
    return text


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
    """The whole HTML document: the page's template with its slots filled in."""
    return fill_template(_template("walkthrough.html"), {
        "TITLE": html.escape(title),
        "STYLE": _template("walkthrough.css"),
        "SCRIPT": fill_template(_template("walkthrough.js"), {"DATA": _script_json(data)}),
        "SVG": svg,
    })


def fill_template(template: str, slots: dict[str, str]) -> str:
    """Replace each `{{NAME}}` of the template with slots[NAME], in one pass.

    What is put in is never searched again, so a label that reads `{{SVG}}`
    stays as it is, and a slot the template does not know is an error.
    """
    def replacement(match: re.Match) -> str:
        name = match.group(1)
        if name not in slots:
            raise KeyError(f"the template has a slot {{{{{name}}}}} that nothing fills")
        return slots[name]

    return _SLOT.sub(replacement, template)


def _template(name: str) -> str:
    """A file of the page (HTML, CSS or JavaScript) shipped in tinygrad_edu/viz/templates/."""
    return (TEMPLATES / name).read_text(encoding="utf-8")


__all__ = ["walkthrough", "walkthrough_html", "build_steps", "backward_grads", "formula",
           "add_practice"]
