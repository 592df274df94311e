"""Lecture §5: the computation graph d = 2*b, e = a + d, L = c*e with a = 3, b = 1, c = -2.

Prints the forward values in the order they are computed, then every gradient
in the order backward fills them in (reverse topological order), each with the
chain-rule product that gives it, e.g. dL/db = dL/de * de/dd * dd/db = -2 * 1 * 2 = -4.
Then draws the graph with every value, gradient and local gradient on it
(out/lecture_graph.svg) and writes a page that steps through the forward and
backward passes one node at a time (out/lecture_walkthrough.html).

    python demos/computation_graph.py [--out DIR]
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional, Sequence

from tinygrad_edu import Value, topological_order, viz
from tinygrad_edu.demos.arguments import DemoParser


def build() -> Value:
    """The lecture's graph, every node labelled with its variable name."""
    a = Value(3.0, label="a")
    b = Value(1.0, label="b")
    c = Value(-2.0, label="c")
    d = 2 * b
    d.label = "d"
    e = a + d
    e.label = "e"
    L = c * e  # noqa: N806 - the lecture's name for the loss
    L.label = "L"
    return L


def num(x: float) -> str:
    """A number as the lecture writes it: 2, -10, 0.5."""
    return f"{x:g}"


def chain_rule_lines(root: Value) -> list[str]:
    """One line per node, in the order backward computes them: its chain-rule product."""
    order = topological_order(root)
    consumers: dict[Value, list[tuple[Value, float]]] = {node: [] for node in order}
    for node in order:
        for child, local in zip(node.inputs, node.local_grads):
            consumers[child].append((node, local))

    top = root.label
    # For a node with a single path up to the root: the (parent, child, local grad) edges on it.
    paths: dict[Value, list[tuple[Value, Value, float]] | None] = {root: []}
    lines = [f"d{top}/d{top} = 1"]
    for node in reversed(order[:-1]):
        uses = consumers[node]
        if len(uses) == 1 and paths[uses[0][0]] is not None:
            parent, local = uses[0]
            path = paths[parent] + [(parent, node, local)]
            paths[node] = path
            symbols = " * ".join(f"d{p.label}/d{c.label}" for p, c, _ in path)
            numbers = " * ".join(num(g) for _, _, g in path)
            if len(path) == 1:
                lines.append(f"d{top}/d{node.label} = {num(node.grad)}")
            else:
                lines.append(f"d{top}/d{node.label} = {symbols} = {numbers} = {num(node.grad)}")
        else:
            # Several consumers (lecture §6): the contributions of the paths add up.
            paths[node] = None
            symbols = " + ".join(f"d{top}/d{p.label} * d{p.label}/d{node.label}" for p, _ in uses)
            numbers = " + ".join(f"{num(p.grad)} * {num(g)}" for p, g in uses)
            lines.append(f"d{top}/d{node.label} = {symbols} = {numbers} = {num(node.grad)}")
    return lines


def formula(node: Value) -> str:
    """How a node was computed, written in infix before its value: `e = a + d = 5`."""
    names = [i.label for i in node.inputs]
    if len(names) == 2 and node.op in ("+", "-", "*", "/"):
        return f"{names[0]} {node.op} {names[1]} = "
    if len(names) == 1 and node.op[:1] in ("+", "-", "*", "/"):
        return f"{names[0]}{node.op} = "
    if names:
        return f"{node.op}({', '.join(names)}) = "
    return ""


def main(argv: Optional[Sequence[str]] = None) -> dict:
    """Print the forward and backward passes, write the pictures; return the lines and paths."""
    parser = DemoParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path("out"), metavar="DIR",
                        help="folder for the pictures")
    args = parser.parse_args(argv)

    L = build()  # noqa: N806
    forward = [f"{node.label} = {formula(node)}{num(node.data)}" for node in topological_order(L)]
    print("Forward pass (topological order):")
    for line in forward:
        print(f"  {line}")
    L.backward()
    backward = chain_rule_lines(L)
    print("Backward pass (reverse topological order, chain rule):")
    for line in backward:
        print(f"  {line}")

    args.out.mkdir(parents=True, exist_ok=True)
    graph = viz.render(L, args.out / "lecture_graph.svg", show_local_grads=True)
    page = viz.walkthrough(L, args.out / "lecture_walkthrough.html",
                           title="Lecture §5: d = 2*b, e = a + d, L = c*e")
    print(f"Wrote {graph} (the graph, local gradients on the arrows)")
    print(f"  and {page} (open it in a browser: forward, then backward, one node per step)")
    return {"forward": forward, "backward": backward, "pictures": [graph, page]}


if __name__ == "__main__":
    try:
        main()
    except viz.RendererNotFound as problem:
        sys.exit(f"computation_graph: cannot draw the graph: {problem}")
